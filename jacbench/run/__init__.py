"""Running a sweep: spec and presets -> frozen Points; the runner checks, times and records each
point; the sweep loop saves after every point and resumes."""
