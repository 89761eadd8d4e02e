"""The language model: prompts, the structured call, its transport, rate limits, the server."""
