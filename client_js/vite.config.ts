import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The server serves dist/index.html at `/` and dist/assets at `/assets`.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    rollupOptions: {
      output: {
        // React, the markdown renderer (with its highlighter) and the rest: cached apart.
        manualChunks(id) {
          if (!id.includes("/node_modules/")) return undefined;
          if (/\/node_modules\/(react|react-dom|scheduler)\//.test(id)) return "react";
          if (/\/node_modules\/(socket\.io-client|engine\.io-client|socket\.io-parser|engine\.io-parser|@socket\.io|debug|ms|xmlhttprequest-ssl)\//.test(id)) {
            return "socket";
          }
          return "markdown";
        },
      },
    },
  },
  server: {
    // `npm run dev` against a server on :8080 (or NETRA_SERVER).
    proxy: {
      "/api": process.env.NETRA_SERVER ?? "http://127.0.0.1:8080",
      "/socket.io": { target: process.env.NETRA_SERVER ?? "http://127.0.0.1:8080", ws: true },
    },
  },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
