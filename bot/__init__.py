"""docbot: question in, cited answer out (engine), and the front ends that call it (cli, discord, terminal).

The folder `bot/` is installed as the package `docbot`; `index/` as `docbot.index`.
"""
