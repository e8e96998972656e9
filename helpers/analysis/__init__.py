"""Reading images without running them: archives, layers, secrets, packages, lint, charts.

archive     a bounded reader of `docker save` archives (tar, gzip, zstd)
layers      what each layer adds, changes and deletes; wasted space
compare     two images side by side
secretscan  secrets left in any layer, deleted or not
sbom        the packages an image holds (syft)
vulns       pending Debian security fixes: dpkg status vs the security archive
lint        Dockerfile findings (hadolint)
explorer    a widget to browse an image's files layer by layer
charts      the size and time charts the notebooks draw
"""
