"""Analytics over the store: the figures of `frontdesk report` (figures.py reads them, cost.py
prices them, plots.py and page.py draw the page). No web framework here: the CLI is the edge."""
