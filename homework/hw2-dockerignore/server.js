// A small Express server: the port comes from the environment (PORT, default 3000).
const express = require("express");

const app = express();
const port = Number(process.env.PORT || 3000);

app.get("/", (req, res) => {
  res.type("text/plain").send("Hello from Node in Docker!\n");
});

app.get("/healthz", (req, res) => {
  res.type("text/plain").send("ok\n");
});

const server = app.listen(port, "0.0.0.0", () => {
  console.log(`node-app listening on port ${port} (node ${process.version})`);
});

// PID 1 in a container gets SIGTERM on `docker stop`: close cleanly instead of waiting for SIGKILL.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    console.log(`${signal} received, closing`);
    server.close(() => process.exit(0));
  });
}
