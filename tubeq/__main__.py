from tubeq.cli.main import run

run()
