"""Local stand-ins for services this machine cannot reach, speaking their wire format (demo and tests)."""
