"""The agent that answers chat messages: our tool loop or a LangGraph graph, and the demo."""
