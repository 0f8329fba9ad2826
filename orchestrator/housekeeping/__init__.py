"""Clean-up that keeps a deployment small: finished jobs' directories, their checkpoints, and their
hidden refs on the forge."""
