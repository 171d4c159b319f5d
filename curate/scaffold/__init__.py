"""Creating workspaces: `curate init`, column-role inference, templates, the demo."""
