"""Question in, cited answer out (engine), and the front ends that call it (cli, discord)."""
