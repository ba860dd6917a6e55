"""`mlbot demo`: the whole product on one machine, telling the story of why it exists.

`session.run_demo` prepares the directory and the stack and always cleans up; `story.Demo` plays
the beats; `terminal` renders the bot's Markdown for the terminal; `processes` leaves nothing behind.
"""
