# HW4 reference solution: in a terminal, after the `export` lines wb.exercises.start_hw4() printed
# (DOCKER_CONFIG, REGISTRY, IMAGE, HW4_USER, HW4_PASSWORD).
set -eu
# Log in: the login goes into $DOCKER_CONFIG/config.json, the workbook's own, not ~/.docker.
printf '%s\n' "$HW4_PASSWORD" | docker login "$REGISTRY" --username "$HW4_USER" --password-stdin
# A second name for the local image: the registry's address, the repository, the tag.
docker tag "$IMAGE" "$REGISTRY/homework/hello:1.0"
# Send it; the last line says "1.0: digest: sha256:... size: N".
docker push "$REGISTRY/homework/hello:1.0"
