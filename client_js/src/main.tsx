import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { chatClient } from "./app/chatClient";
import { ChatClientContext } from "./react";
import "./app/styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <ChatClientContext value={chatClient}>
      <App />
    </ChatClientContext>
  </StrictMode>,
);
