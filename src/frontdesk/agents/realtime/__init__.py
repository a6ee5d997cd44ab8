from frontdesk.agents.realtime.agent import GOALS, RealtimeAgent, RealtimeResponder
from frontdesk.agents.realtime.dialogue import RealtimeTurn

__all__ = ["GOALS", "RealtimeAgent", "RealtimeResponder", "RealtimeTurn"]
