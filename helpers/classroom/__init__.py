"""What a learner and an instructor use around the lessons.

session   wb.start(): live, record or replay, and the replay banner
notebook  wb.check(), wb.show(), errors shown as one paragraph
doctor    what the workbook can do on this machine
record    `python -m helpers record`: recordings made by running the notebooks
tokens    fresh random tokens for lessons
"""
