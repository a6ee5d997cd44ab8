from frontdesk.agents.realtime.agent import GOALS, RealtimeAgent, RealtimeResponder, RealtimeTurn

__all__ = ["GOALS", "RealtimeAgent", "RealtimeResponder", "RealtimeTurn"]
