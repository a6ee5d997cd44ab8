from frontdesk.cli.main import app

app(prog_name="frontdesk")
