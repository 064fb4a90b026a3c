# syntax=docker/dockerfile:1
# Build: native modules (better-sqlite3, lzma-native) and the TypeScript output.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build.mjs scripts/build.mjs
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild
COPY tsconfig.json ./
COPY src src
COPY providers providers
COPY migrations migrations
COPY templates templates
COPY public public
COPY bin bin
RUN node scripts/build.mjs && npm prune --omit=dev

# Run: only the compiled output, production modules, templates and static files.
FROM node:20-bookworm-slim
ENV NODE_ENV=production DATA_DIR=/data PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/templates templates
COPY --from=build /app/public public
COPY --from=build /app/bin bin
RUN useradd --system --uid 10001 --home /data artifactd && mkdir -p /data && chown artifactd /data
USER artifactd
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/server.js"]
