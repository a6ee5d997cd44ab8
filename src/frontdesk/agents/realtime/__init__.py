from frontdesk.agents.realtime.agent import GOALS, RealtimeAgent, RealtimeTurn

__all__ = ["GOALS", "RealtimeAgent", "RealtimeTurn"]
