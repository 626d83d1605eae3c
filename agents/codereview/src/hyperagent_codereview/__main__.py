"""``python3 -m hyperagent_codereview``: run the code-review agent until SIGTERM/SIGINT."""

from .agent import agent

if __name__ == "__main__":
    agent.run()
