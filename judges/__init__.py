"""understudy.judges"""
