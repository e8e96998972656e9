import platform

print(f"Hello from Docker! (Python {platform.python_version()})")
