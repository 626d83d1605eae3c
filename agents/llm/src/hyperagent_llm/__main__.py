"""``python3 -m hyperagent_llm``: run the LLM agent until SIGTERM/SIGINT."""

from .agent import agent

if __name__ == "__main__":
    agent.run()
