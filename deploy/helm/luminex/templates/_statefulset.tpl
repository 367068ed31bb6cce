{{/*
One StatefulSet of nodes in a role. Called with a dict:
  root  the chart's top-level context
  role  "producer" or "follower"
  v     the role's values (.Values.producers or .Values.followers)
*/}}
{{- define "luminex.statefulset" -}}
{{- $root := .root -}}
{{- $v := .v -}}
{{- $name := printf "%s-%s" (include "luminex.fullname" $root) .role -}}
{{- $firstProducer := printf "%s-producer-0" (include "luminex.fullname" $root) -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $name }}
  labels:
    {{- include "luminex.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .role }}
spec:
  serviceName: {{ include "luminex.peersService" $root }}
  {{- /* An autoscaled StatefulSet leaves its replica count to the autoscaler. */}}
  {{- if not (and (eq .role "follower") $v.autoscaling.enabled) }}
  replicas: {{ $v.replicas }}
  {{- end }}
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      {{- include "luminex.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ .role }}
  template:
    metadata:
      labels:
        {{- include "luminex.selectorLabels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .role }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- with $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
      containers:
        - name: node
          image: {{ include "luminex.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          command: ["/bin/sh", "-c"]
          args:
            - |
              {{- if and (eq .role "producer") (not $root.Values.bootnodes) }}
              # The first producer is the bootstrap node; every other pod dials it.
              if [ "$HOSTNAME" != "{{ $firstProducer }}" ]; then export LUMINEX_BOOTNODES="{{ include "luminex.bootnodes" $root }}"; fi
              {{- else }}
              export LUMINEX_BOOTNODES="{{ include "luminex.bootnodes" $root }}"
              {{- end }}
              {{- if eq .role "producer" }}
              {{- if $v.mine }}
              exec luminex node --mine --threads {{ int $v.threads }} --miner-address "$LUMINEX_MINER_ADDRESS"
              {{- else }}
              exec luminex node
              {{- end }}
              {{- else }}
              exec luminex node --no-produce
              {{- end }}
          env:
            - name: LUMINEX_CHAIN
              value: {{ $root.Values.chain | quote }}
            - name: LUMINEX_CONFIG
              value: /etc/luminex/luminex.toml
            - name: LUMINEX_DATA_DIR
              value: /data
            - name: LUMINEX_HTTP_ADDR
              value: {{ printf "0.0.0.0:%d" (int $root.Values.ports.api) | quote }}
            - name: LUMINEX_RPC_ADDR
              value: {{ printf "0.0.0.0:%d" (int $root.Values.ports.rpc) | quote }}
            - name: LUMINEX_LISTEN
              value: {{ printf "/ip4/0.0.0.0/tcp/%d" (int $root.Values.ports.p2p) | quote }}
            {{- with $root.Values.logLevel }}
            - name: RUST_LOG
              value: {{ . | quote }}
            {{- end }}
            {{- if and (eq .role "producer") $v.mine }}
            - name: LUMINEX_MINER_ADDRESS
              value: {{ required "producers.minerAddress is required when producers mine" $v.minerAddress | quote }}
            {{- end }}
            - name: LUMINEX_RPC_USER
              valueFrom:
                secretKeyRef:
                  name: {{ include "luminex.secretName" $root }}
                  key: rpc-user
                  optional: true
            - name: LUMINEX_RPC_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ include "luminex.secretName" $root }}
                  key: rpc-password
                  optional: true
            - name: LUMINEX_ADMIN_KEY_HASHES
              valueFrom:
                secretKeyRef:
                  name: {{ include "luminex.secretName" $root }}
                  key: admin-key-hashes
                  optional: true
            {{- with $root.Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: api
              containerPort: {{ $root.Values.ports.api }}
              protocol: TCP
            - name: rpc
              containerPort: {{ $root.Values.ports.rpc }}
              protocol: TCP
            - name: p2p
              containerPort: {{ $root.Values.ports.p2p }}
              protocol: TCP
          startupProbe:
            httpGet:
              path: /health/live
              port: api
            periodSeconds: 10
            failureThreshold: {{ $root.Values.probes.startupFailureThreshold }}
          livenessProbe:
            httpGet:
              path: /health/live
              port: api
            periodSeconds: {{ $root.Values.probes.livenessPeriodSeconds }}
            timeoutSeconds: 5
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /health/ready
              port: api
            periodSeconds: {{ $root.Values.probes.readinessPeriodSeconds }}
            timeoutSeconds: 5
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - name: data
              mountPath: /data
            - name: config
              mountPath: /etc/luminex
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- with $root.Values.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ include "luminex.fullname" $root }}-config
        - name: tmp
          emptyDir: {}
        {{- with $root.Values.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  volumeClaimTemplates:
    - metadata:
        name: data
        labels:
          {{- include "luminex.selectorLabels" $root | nindent 10 }}
          app.kubernetes.io/component: {{ .role }}
      spec:
        accessModes: ["ReadWriteOnce"]
        {{- with $v.persistence.storageClass }}
        storageClassName: {{ . | quote }}
        {{- end }}
        resources:
          requests:
            storage: {{ $v.persistence.size | quote }}
{{- end }}
