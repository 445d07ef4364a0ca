"""The fleet adapter: hosts outside the stack, rolled out over SSH with Ansible (see ARCHITECTURE.md)."""
