"""Static files of the preview (CSS, JavaScript, the letter page), copied beside index.html."""
