"""`brain demo`: the main job — a living factory through the whole pipeline, with a live view."""
