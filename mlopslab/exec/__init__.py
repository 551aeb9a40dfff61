"""mlopslab.exec"""
