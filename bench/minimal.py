"""The yardstick: a bare Flask page rendering a 50-row table, served like the portal."""

from flask import Flask, render_template

app = Flask(__name__)
ROWS = [{"name": f"m{i}@example.org", "quota": 100 + i, "status": "applied"} for i in range(50)]


@app.route("/")
def page():
    return render_template("minimal.html", rows=ROWS)
