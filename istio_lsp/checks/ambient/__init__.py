"""Ambient mode: the labels that enrol pods and Services in ambient mode and send their traffic through a
waypoint, the waypoints themselves, and the policies ztunnel and waypoints enforce."""
