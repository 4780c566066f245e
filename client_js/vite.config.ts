import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The server serves dist/index.html at `/`, dist/ai-sdk.html (the AI SDK example) at `/ai-sdk`
// and dist/assets at `/assets`.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    rollupOptions: {
      input: { main: "index.html", aiSdk: "ai-sdk.html" },
      output: {
        // React, socket.io, the AI SDK (only the example page loads it) and the markdown
        // renderer with its highlighter: cached apart.
        manualChunks(id) {
          if (!id.includes("/node_modules/")) return undefined;
          if (/\/node_modules\/(ai|@ai-sdk|zod|swr|throttleit|@standard-schema|@opentelemetry|@vercel|eventsource-parser|dequal|use-sync-external-store)\//.test(id)) {
            return "ai-sdk";
          }
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
