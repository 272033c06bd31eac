"""The published site: ``depin report`` executes the notebooks and writes static HTML.

``build`` runs and exports the notebooks; ``pages`` holds the navigation, provenance footer and index;
``flywheel_figures`` draws the loop; ``check`` tests links without a browser and ``browser`` with Chromium.
Presentation only: left out of the model code hash.
"""
