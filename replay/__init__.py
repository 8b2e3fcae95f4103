"""understudy.replay"""
