# syntax=docker/dockerfile:1
# The image runs the JavaScript that `npm run build` compiles from src/, not the TypeScript sources.

# Stage 1: production dependencies only, installed exactly from the lock file.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# npm keeps TypeScript (our dev dependency, valibot's optional peer) in an --omit=dev install
# (npm/cli#7734); nothing loads it at run time, and it weighs some 30 MB.
RUN npm ci --omit=dev && rm -rf node_modules/typescript node_modules/@typescript && npm cache clean --force

# Stage 2: the build: every dependency, then tsc. No install scripts: the only one fetches the
# Node binary that the `node` dev dependency pins for npm scripts, and this image has Node 24.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Stage 3: the runtime image: production dependencies, the build output, package.json, nothing else.
FROM node:24-slim AS runtime
# Production refuses to start without CHATBOTKIT_SECRET (and no secret is baked in here);
# HOST=0.0.0.0 because inside a container loopback would be unreachable.
# NODE_COMPILE_CACHE: V8's compiled code of every module the server loads, kept in the image.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    NODE_COMPILE_CACHE=.node-compile-cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
RUN mkdir .node-compile-cache && chown node .node-compile-cache
# The image's built-in unprivileged user.
USER node
# Fills the compile cache, as the user that runs the server (Node keeps one cache per user id):
# loading the modules is most of the start-up, and compiling them again most of that
# (bench/README.md, "Measured changes"). `--version` loads every module imported at start (not
# OpenTelemetry's SDK, which only tracing loads) and exits.
RUN node dist/server.js --version
EXPOSE 4000
# bash's /dev/tcp rather than a second Node process per probe (the image has no curl or wget):
# a plain HTTP/1.0 GET of /healthz, healthy when the status line says 200.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-4000} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 2 _ status _ <&3 && [ \"$status\" = 200 ]"]
# Exec form, so node receives SIGTERM and drains; npm start's V8 flags, on the compiled entry.
CMD ["node", "--max-semi-space-size=16", "dist/server.js"]
