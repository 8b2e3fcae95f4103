"""understudy.tools"""
