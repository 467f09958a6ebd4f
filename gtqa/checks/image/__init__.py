"""Image-based checks (OpenCV): box edges against image content."""
