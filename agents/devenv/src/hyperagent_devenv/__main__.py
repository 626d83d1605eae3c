"""``python3 -m hyperagent_devenv``: run the dev-env agent until SIGTERM/SIGINT."""

from .agent import agent

if __name__ == "__main__":
    agent.run()
