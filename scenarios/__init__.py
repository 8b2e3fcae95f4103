"""understudy.scenarios"""
