"""``python3 -m hyperagent_securityaudit``: run the security-audit agent until SIGTERM/SIGINT."""

from .agent import agent

if __name__ == "__main__":
    agent.run()
