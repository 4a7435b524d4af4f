"""The Gradio web app for visitors and support staff."""
