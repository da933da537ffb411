# syntax=docker/dockerfile:1
# The gateway runs its TypeScript sources directly on Node 24 (type stripping): no build step.

# Stage 1: production dependencies only, installed exactly from the lock file.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# npm keeps TypeScript (our dev dependency, valibot's optional peer) in an --omit=dev install
# (npm/cli#7734); nothing loads it at run time, and it weighs some 30 MB.
RUN npm ci --omit=dev && rm -rf node_modules/typescript node_modules/@typescript && npm cache clean --force

# Stage 2: the runtime image: dependencies, sources and nothing else.
FROM node:24-slim AS runtime
# Production refuses to start without CHATBOTKIT_SECRET (and no secret is baked in here);
# HOST=0.0.0.0 because inside a container loopback would be unreachable.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# The image's built-in unprivileged user.
USER node
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, so node receives SIGTERM and drains; the same command as `npm start`.
CMD ["node", "--max-semi-space-size=16", "src/server.ts"]
