"""``python3 -m hyperagent_echo``: run the echo agent until SIGTERM/SIGINT."""

from .agent import agent

if __name__ == "__main__":
    agent.run()
