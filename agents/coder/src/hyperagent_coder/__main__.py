"""``python3 -m hyperagent_coder``: run the coding worker until SIGTERM/SIGINT."""

from .agent import agent

if __name__ == "__main__":
    agent.run()
