"""``python3 -m hyperagent_bootstrapper``: run the bootstrapper agent until SIGTERM/SIGINT."""

from .agent import agent

if __name__ == "__main__":
    agent.run()
