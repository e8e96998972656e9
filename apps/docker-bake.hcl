# Every app variant in apps/, built in one `docker buildx bake` call (run from this folder).
# Tags and labels come from variables, so each learner's images stay in their own namespace:
#   PREFIX=wb-ana LEARNER=ana docker buildx bake --file docker-bake.hcl
# (notebook 17 sets them for you). `docker buildx bake --print` shows the resolved targets.

variable "PREFIX" {
  default = "wb-learner"
}

variable "LEARNER" {
  default = "learner"
}

# The labels every workbook image carries: whose it is, and the name it was built as.
function "workbook_labels" {
  params = [ref]
  result = {
    "org.dockerworkbook.image" = LEARNER
    "org.dockerworkbook.ref"   = ref
  }
}

group "default" {
  targets = [
    "c-hello",
    "flask-app", "flask-app-naive",
    "go-app-single", "go-app-debian", "go-app-distroless", "go-app-scratch", "go-app-cross",
    "hello-python",
    "node-app", "node-app-naive",
  ]
}

target "c-hello" {
  context = "c-hello"
  tags    = ["${PREFIX}/c-hello:latest"]
  labels  = workbook_labels("${PREFIX}/c-hello:latest")
}

target "flask-app" {
  context = "flask-app"
  tags    = ["${PREFIX}/flask-app:latest"]
  labels  = workbook_labels("${PREFIX}/flask-app:latest")
}

target "flask-app-naive" {
  context    = "flask-app"
  dockerfile = "Dockerfile.naive"
  tags       = ["${PREFIX}/flask-app:naive"]
  labels     = workbook_labels("${PREFIX}/flask-app:naive")
}

target "go-app-single" {
  context    = "go-app"
  dockerfile = "Dockerfile.single"
  tags       = ["${PREFIX}/go-app:single"]
  labels     = workbook_labels("${PREFIX}/go-app:single")
}

target "go-app-debian" {
  context    = "go-app"
  dockerfile = "Dockerfile.debian"
  tags       = ["${PREFIX}/go-app:debian"]
  labels     = workbook_labels("${PREFIX}/go-app:debian")
}

target "go-app-distroless" {
  context    = "go-app"
  dockerfile = "Dockerfile.distroless"
  tags       = ["${PREFIX}/go-app:distroless"]
  labels     = workbook_labels("${PREFIX}/go-app:distroless")
}

target "go-app-scratch" {
  context    = "go-app"
  dockerfile = "Dockerfile.scratch"
  tags       = ["${PREFIX}/go-app:scratch"]
  labels     = workbook_labels("${PREFIX}/go-app:scratch")
}

target "go-app-cross" {
  context    = "go-app"
  dockerfile = "Dockerfile.cross"
  tags       = ["${PREFIX}/go-app:cross"]
  labels     = workbook_labels("${PREFIX}/go-app:cross")
}

target "hello-python" {
  context = "hello-python"
  tags    = ["${PREFIX}/hello-python:latest"]
  labels  = workbook_labels("${PREFIX}/hello-python:latest")
}

target "node-app" {
  context = "node-app"
  tags    = ["${PREFIX}/node-app:latest"]
  labels  = workbook_labels("${PREFIX}/node-app:latest")
}

target "node-app-naive" {
  context    = "node-app"
  dockerfile = "Dockerfile.naive"
  tags       = ["${PREFIX}/node-app:naive"]
  labels     = workbook_labels("${PREFIX}/node-app:naive")
}
