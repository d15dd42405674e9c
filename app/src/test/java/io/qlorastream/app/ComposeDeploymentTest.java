package io.qlorastream.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.LayeredDefaults;
import io.qlorastream.ingest.IngestConfig;
import io.qlorastream.ingest.IngestTopics;
import io.qlorastream.schemas.contract.Topic;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * compose/ against the application it deploys. No Docker engine runs here, so this checks what can be checked
 * without one: Docker Compose itself parses the file (every profile); every {@code QLORA_STREAM_*} variable the
 * file sets is read by the command its service runs (derived from the real picocli command tree and
 * {@link LayeredDefaults}); the topics the one-shot creates are exactly the topics the services use by default,
 * with the contract's cleanup policies, retention and message sizes (each line as {@link Topic} writes it); the Dockerfile
 * copies files that exist.
 */
class ComposeDeploymentTest {
    static final Path REPO = Path.of("").toAbsolutePath().getParent();
    static final Path COMPOSE_DIR = REPO.resolve("compose");
    static final Path COMPOSE_FILE = COMPOSE_DIR.resolve("docker-compose.yml");
    static final Path LAUNCHER = COMPOSE_DIR.resolve("qlora-stream.sh");
    static final Path DOCKERFILE = COMPOSE_DIR.resolve("Dockerfile");

    /** Topics of the contract with a policy of their own. */
    static final String RELEASES_TOPIC = Topic.ADAPTER_RELEASES.defaultName();
    static final String RELEASE_LOG_TOPIC = Topic.ADAPTER_RELEASE_LOG.defaultName();
    /** Shortest retention that still counts as "long enough to replay" for the example topics (-1 = forever). */
    static final long MIN_REPLAY_RETENTION_MS = 30L * 24 * 3600 * 1000;

    /** The S3 settings of the adapter store (AdapterStore.open reads them; credentials come from the AWS chain). */
    static final Set<String> S3_VARIABLES = Set.of("QLORA_STREAM_S3_ENDPOINT", "QLORA_STREAM_S3_REGION", "QLORA_STREAM_S3_PATH_STYLE");
    /** Commands without --adapter-store that still open the store of an artifact URI (AdapterStore.forUri), so read S3 settings. */
    static final Set<String> FETCH_BY_ARTIFACT_URI = Set.of("subscribe");

    /**
     * Options compose may set before the command has them, without "--" (none now). Once such an option exists, its
     * entry goes and the real option is checked instead.
     */
    static final Map<String, Set<String>> PENDING_OPTIONS = Map.of();

    // ---------------------------------------------------------------------------------------------------------
    // (1) Docker Compose parses the file, in every profile

    @Test
    void dockerComposeParsesTheFileInEveryProfile() throws Exception {
        String binary = dockerCompose();
        for (List<String> profile : List.of(List.<String>of(), List.of("--profile", "ha"), List.of("--profile", "gpu"),
                List.of("--profile", "vllm"), List.of("--profile", "ha", "--profile", "gpu", "--profile", "vllm"))) {
            List<String> cmd = new ArrayList<>(List.of(binary, "-f", COMPOSE_FILE.toString()));
            cmd.addAll(profile);
            cmd.addAll(List.of("config", "-q"));
            Result r = run(COMPOSE_DIR, cmd);
            assertThat(r.exit()).as("%s\n%s", String.join(" ", cmd), r.output()).isZero();
        }
    }

    @Test
    void dockerComposeRejectsAnInvalidFile(@TempDir Path tmp) throws Exception {
        // So a parse that passes means something: the same tool refuses a misspelt GPU reservation and a misspelt
        // dependency condition, the parts of our file most easily got wrong.
        String binary = dockerCompose();
        for (String bad : List.of(
                "services:\n  a:\n    image: x\n    deploy:\n      resources:\n        reservations:\n"
                        + "          devices:\n            - driver: nvidia\n              count: 1\n              capability: [gpu]\n",
                "services:\n  a:\n    image: x\n    depends_on:\n      b:\n        condition: service_completed\n  b:\n    image: y\n")) {
            Path file = Files.writeString(tmp.resolve("docker-compose.yml"), bad);
            Result r = run(tmp, List.of(binary, "-f", file.toString(), "config", "-q"));
            assertThat(r.exit()).as("accepted:\n%s", bad).isNotZero();
            assertThat(r.output()).contains("invalid");
        }
    }

    @Test
    void withoutDockerComposeTheCheckIsSkippedHereAndFailsInCi() {
        Map<String, String> noBinary = Map.of("PATH", "/nonexistent");
        assertThatThrownBy(() -> dockerCompose(noBinary)).isInstanceOf(TestAbortedException.class)
                .hasMessageContaining("docker-compose is not installed");
        assertThatThrownBy(() -> dockerCompose(Map.of("PATH", "/nonexistent", "CI", "true")))
                .isInstanceOf(AssertionError.class).hasMessageContaining("CI must check the compose file");
    }

    static String dockerCompose() {
        return dockerCompose(System.getenv());
    }

    /** The docker-compose binary; a missing one skips the test here and fails it in CI, where run-tests installs it. */
    static String dockerCompose(Map<String, String> env) {
        for (String dir : env.getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, "docker-compose");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        String reason = "docker-compose is not installed (apt-get install docker-compose; ./run-tests installs it)";
        if ("true".equalsIgnoreCase(env.get("CI"))) {
            fail(reason + ", and CI must check the compose file");
        }
        assumeTrue(false, reason);
        return null;
    }

    // ---------------------------------------------------------------------------------------------------------
    // (2) Every QLORA_STREAM_* variable compose sets is one the application reads

    @Test
    void everyQloraStreamVariableIsReadByTheCommandOfItsService() throws IOException {
        List<String> problems = variableProblems(readCompose(), QloraStream.commandLine());
        assertThat(problems).as(String.join("\n", problems)).isEmpty();
        // ...and the file does use them: each service of ours is reached.
        assertThat(ourServices(readCompose()).keySet())
                .contains("ingest", "trainer", "trainer-gpu", "evaluator", "publisher", "subscriber");
    }

    @Test
    void aVariableNoOptionReadsIsReported() throws IOException {
        JsonNode compose = yaml().readTree("""
                services:
                  ingest:
                    build: {context: .., dockerfile: compose/Dockerfile}
                    command: [ingest]
                    environment:
                      QLORA_STREAM_BOOTSTRAP_SERVERS: kafka:9092
                      QLORA_STREAM_METRICS_INTERVALS: "10"
                      QLORA_STREAM_KAFKA_SASL_MECHANSIM: PLAIN
                      QLORA_STREAM_S3_ENDPOINT: http://minio:9000
                  vllm:
                    image: vllm/vllm-openai
                    environment: ["QLORA_STREAM_DIR=/adapters"]
                  nosuch:
                    build: {context: .., dockerfile: compose/Dockerfile}
                    command: [no-such-command]
                """);
        List<String> problems = variableProblems(compose, QloraStream.commandLine());
        assertThat(String.join("\n", problems))
                .contains("ingest: QLORA_STREAM_METRICS_INTERVALS")
                .contains("ingest: QLORA_STREAM_KAFKA_SASL_MECHANSIM")
                .contains("ingest: QLORA_STREAM_S3_ENDPOINT")
                .contains("vllm: QLORA_STREAM_DIR")
                .contains("nosuch: runs 'no-such-command'")
                .doesNotContain("ingest: QLORA_STREAM_BOOTSTRAP_SERVERS");
        assertThat(problems).hasSize(5);
    }

    @Test
    void pendingOptionsAreStillMissingFromTheirCommands() {
        // Once an option merges, its real definition replaces the assumed one: remove it from PENDING_OPTIONS.
        Map<String, CommandLine> tree = QloraStream.commandLine().getSubcommands();
        for (Map.Entry<String, Set<String>> pending : PENDING_OPTIONS.entrySet()) {
            CommandLine sub = tree.get(pending.getKey());
            assertThat(sub).as("command " + pending.getKey()).isNotNull();
            for (String option : pending.getValue()) {
                assertThat(sub.getCommandSpec().findOption("--" + option))
                        .as("merged: remove --%s of %s from ComposeDeploymentTest.PENDING_OPTIONS", option, pending.getKey())
                        .isNull();
            }
        }
    }

    static List<String> variableProblems(JsonNode compose, CommandLine root) throws IOException {
        Set<String> launcher = launcherVariables();
        Set<String> kafkaKeys = kafkaClientKeys();
        List<String> problems = new ArrayList<>();
        Map<String, JsonNode> ours = ourServices(compose);
        for (Map.Entry<String, JsonNode> service : compose.path("services").properties()) {
            String name = service.getKey();
            Map<String, String> env = environment(service.getValue());
            if (!ours.containsKey(name)) {
                env.keySet().stream().filter(k -> k.startsWith(LayeredDefaults.ENV_PREFIX))
                        .forEach(k -> problems.add(name + ": " + k + " is set on a service that does not run qlora-stream"));
                continue;
            }
            String command = command(service.getValue());
            Readable readable = readable(root, command);
            if (readable == null) {
                problems.add(name + ": runs '" + command + "', which is no qlora-stream command");
                continue;
            }
            for (String var : env.keySet()) {
                if (!var.startsWith(LayeredDefaults.ENV_PREFIX) || readable.variables.contains(var) || launcher.contains(var)) {
                    continue;
                }
                if (var.startsWith(KafkaOptions.KAFKA_ENV_PREFIX) && readable.kafka) {
                    String key = var.substring(KafkaOptions.KAFKA_ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
                    if (!kafkaKeys.contains(key) && !key.startsWith("schema.registry.") && !key.startsWith("basic.auth.")) {
                        problems.add(name + ": " + var + " passes '" + key + "', which no Kafka client knows");
                    }
                    continue;
                }
                if (S3_VARIABLES.contains(var) && readable.s3) {
                    continue;
                }
                problems.add(name + ": " + var + " is read by no option of '" + command + "' " + readable.variables);
            }
        }
        return problems;
    }

    /** The variables a command reads: its options' (LayeredDefaults), Kafka passthrough, S3 settings. */
    record Readable(Set<String> variables, boolean kafka, boolean s3) {
    }

    static Readable readable(CommandLine root, String command) {
        CommandLine sub = root.getSubcommands().get(command);
        if (sub == null) {
            return null;
        }
        Set<String> vars = new TreeSet<>();
        CommandSpec spec = sub.getCommandSpec();
        for (OptionSpec o : spec.options()) {
            String v = LayeredDefaults.envVariable(o);
            if (v != null) {
                vars.add(v);
            }
        }
        PENDING_OPTIONS.getOrDefault(command, Set.of()).forEach(o -> vars.add(LayeredDefaults.envName(o)));
        boolean kafka = spec.mixins().values().stream().anyMatch(m -> m.userObject() instanceof KafkaOptions);
        boolean s3 = vars.contains(LayeredDefaults.envName("adapter-store")) || FETCH_BY_ARTIFACT_URI.contains(command);
        return new Readable(vars, kafka, s3);
    }

    /** QLORA_STREAM_* variables the image's entry point script reads (QLORA_STREAM_JAVA_OPTS). */
    static Set<String> launcherVariables() throws IOException {
        Matcher m = Pattern.compile("\\$\\{?(QLORA_STREAM_[A-Z0-9_]+)").matcher(Files.readString(LAUNCHER));
        Set<String> vars = new TreeSet<>();
        while (m.find()) {
            vars.add(m.group(1));
        }
        assertThat(vars).as("variables of " + LAUNCHER).contains("QLORA_STREAM_JAVA_OPTS");
        return vars;
    }

    static Set<String> kafkaClientKeys() {
        Set<String> keys = new TreeSet<>();
        keys.addAll(ProducerConfig.configNames());
        keys.addAll(ConsumerConfig.configNames());
        keys.addAll(AdminClientConfig.configNames());
        keys.addAll(StreamsConfig.configDef().names());
        return keys;
    }

    // ---------------------------------------------------------------------------------------------------------
    // (3) The topics compose creates are the topics the services use, with the contract's policies

    @Test
    void theCreatedTopicsAreExactlyTheTopicsTheServicesUse() throws IOException {
        JsonNode compose = readCompose();
        Map<String, Map<String, String>> created = createdTopics(compose);
        Map<String, Set<String>> usedBy = topicsUsed(compose, QloraStream.commandLine());
        Set<String> used = usedBy.values().stream().flatMap(Set::stream).collect(Collectors.toCollection(TreeSet::new));
        assertThat(new TreeSet<>(created.keySet())).as("created by topic-init vs used by %s", usedBy).isEqualTo(used);
    }

    @Test
    void theTopicsHaveTheContractsPolicies() throws IOException {
        Map<String, Map<String, String>> created = createdTopics(readCompose());
        for (var t : created.entrySet()) {
            String policy = t.getValue().getOrDefault("cleanup.policy", "delete");
            assertThat(policy).as("cleanup.policy of %s", t.getKey()).isEqualTo(t.getKey().equals(RELEASES_TOPIC) ? "compact" : "delete");
        }
        assertThat(created.get(RELEASE_LOG_TOPIC)).containsEntry("retention.ms", "-1").containsEntry("retention.bytes", "-1");

        IngestConfig ingest = IngestConfig.defaults();
        for (String replayable : List.of(ingest.trainingTopic, ingest.evalTopic)) {
            long retention = Long.parseLong(created.get(replayable).getOrDefault("retention.ms", "604800000"));
            assertThat(retention == -1 || retention >= MIN_REPLAY_RETENTION_MS).as("retention.ms of %s: %s", replayable, retention).isTrue();
        }
        // A 10 MB ticket or review, the examples ingest makes of it (its producer sends up to MAX_MESSAGE_BYTES), and
        // their dead letters, ingest's and the trainer's, must all fit.
        for (String big : List.of(ingest.ticketsTopic, ingest.reviewsTopic, ingest.trainingTopic, ingest.evalTopic, ingest.dlqTopic, Topic.TRAINER_DLQ.defaultName())) {
            long max = Long.parseLong(created.get(big).getOrDefault("max.message.bytes", "1048588"));
            assertThat(max).as("max.message.bytes of %s", big).isGreaterThanOrEqualTo(IngestTopics.MAX_MESSAGE_BYTES);
        }
    }

    @Test
    void topicInitCreatesEveryPipelineTopicOfTheContractWithItsDeploymentConfigs() throws IOException {
        List<String> created = Stream.of(topicInitScript(readCompose()).split("\n")).map(String::strip)
                .filter(l -> l.contains("kafka-topics.sh") && l.contains("--create")).toList();
        assertThat(created).isEqualTo(Topic.pipeline().stream().map(ComposeDeploymentTest::topicInitLine).toList());
    }

    /** The kafka-topics.sh line that creates {@code t} as the contract says (after compose's interpolation at its defaults). */
    static String topicInitLine(Topic t) {
        StringBuilder line = new StringBuilder("/opt/kafka/bin/kafka-topics.sh --bootstrap-server \"$BOOTSTRAP\" --create --if-not-exists --topic ")
                .append(t.defaultName()).append(" --partitions \"$PARTITIONS\" --replication-factor \"$RF\"");
        t.deploymentConfigs().forEach((k, v) -> line.append(" --config ").append(k).append('=').append(v));
        return line.toString();
    }

    @Test
    void theTopicScriptWaitsForTheBrokersThenRunsEveryCreation(@TempDir Path tmp) throws Exception {
        // The script as the container runs it (bash -euc), with Kafka's two tools replaced by stubs that log their
        // arguments: the first broker count is below RF, so the script must wait once, then create every topic.
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path log = tmp.resolve("calls.log");
        Path tries = tmp.resolve("tries");
        stub(bin.resolve("kafka-broker-api-versions.sh"), "echo x >> " + tries + "\n"
                + "if [ $(wc -l < " + tries + ") -lt 2 ]; then echo 'kafka-1:9092 (id: 1 rack: null) -> ('; exit 0; fi\n"
                + "for i in 1 2 3; do echo \"kafka-$i:9092 (id: $i rack: null) -> (\"; done\n");
        stub(bin.resolve("kafka-topics.sh"), "echo \"$*\" >> " + log + "\n");
        String script = topicInitScript(readCompose()).replace("/opt/kafka/bin/", bin + "/").replace("sleep 5", "sleep 0");
        Result r = run(tmp, List.of("env", "BOOTSTRAP=kafka-1:9092", "RF=3", "PARTITIONS=6", "bash", "-euc", script));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("1 of 3 brokers up, waiting").contains("topic-init: done");
        List<String> calls = Files.readAllLines(log);
        assertThat(calls.stream().filter(c -> c.contains("--create")).count()).isEqualTo(createdTopics(readCompose()).size());
        assertThat(calls).allSatisfy(c -> assertThat(c).contains("--bootstrap-server kafka-1:9092"));
        assertThat(calls.stream().filter(c -> c.contains("--create")))
                .allSatisfy(c -> assertThat(c).contains("--partitions 6 --replication-factor 3"));
    }

    static void stub(Path file, String body) throws IOException {
        Files.writeString(file, "#!/bin/bash\n" + body);
        assertThat(file.toFile().setExecutable(true)).isTrue();
    }

    /** One `kafka-topics.sh --create` of the topic-init service, its shell variables at compose's defaults. */
    record CreatedTopic(String name, int partitions, short replicationFactor, Map<String, String> configs) {
    }

    /** topic → its --config settings, from each `kafka-topics.sh ... --create` line of the topic-init service. */
    static Map<String, Map<String, String>> createdTopics(JsonNode compose) {
        Map<String, Map<String, String>> topics = new TreeMap<>();
        topicCreations(compose).forEach(t -> topics.put(t.name(), t.configs()));
        return topics;
    }

    static List<CreatedTopic> topicCreations(JsonNode compose) {
        Map<String, String> shellVars = new TreeMap<>();
        environment(compose.path("services").path("topic-init")).forEach((k, v) -> shellVars.put(k, interpolateDefaults(v)));
        List<CreatedTopic> created = new ArrayList<>();
        Set<String> names = new TreeSet<>();
        for (String line : topicInitScript(compose).split("\n")) {
            if (!line.contains("kafka-topics.sh") || !line.contains("--create")) {
                continue;
            }
            List<String> args = Stream.of(line.trim().split("\\s+")).map(a -> a.replace("\"", "")).toList();
            assertThat(args).as(line).contains("--if-not-exists", "--partitions", "--replication-factor");
            String topic = args.get(args.indexOf("--topic") + 1);
            Map<String, String> configs = new LinkedHashMap<>();
            for (int i = 0; i < args.size() - 1; i++) {
                if (args.get(i).equals("--config")) {
                    String[] kv = args.get(i + 1).split("=", 2);
                    configs.put(kv[0], kv[1]);
                }
            }
            int partitions = Integer.parseInt(shellValue(args.get(args.indexOf("--partitions") + 1), shellVars));
            short rf = Short.parseShort(shellValue(args.get(args.indexOf("--replication-factor") + 1), shellVars));
            assertThat(names.add(topic)).as("%s created twice", topic).isTrue();
            created.add(new CreatedTopic(topic, partitions, rf, configs));
        }
        assertThat(created).as("topics created by topic-init").isNotEmpty();
        return created;
    }

    /** A literal, or $NAME of the service's environment. */
    static String shellValue(String arg, Map<String, String> vars) {
        if (!arg.startsWith("$")) {
            return arg;
        }
        String value = vars.get(arg.substring(1).replace("{", "").replace("}", ""));
        assertThat(value).as("%s in the environment of topic-init", arg).isNotNull();
        return value;
    }

    /** The topic-init script as the container's shell sees it: compose's ${VAR:-default} at its default, $$ as $. */
    static String topicInitScript(JsonNode compose) {
        JsonNode service = compose.path("services").path("topic-init");
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : service.path("command")) {
            sb.append(part.asText()).append('\n');
        }
        return interpolateDefaults(sb.toString());
    }

    static String interpolateDefaults(String s) {
        String noDollars = s.replace("$$", "\u0000");
        Matcher m = Pattern.compile("\\$\\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)}").matcher(noDollars);
        return m.replaceAll(r -> Matcher.quoteReplacement(r.group(1))).replace("\u0000", "$");
    }

    /** service → the topics its command uses by default: options named --*-topic; ingest's IngestConfig topics. */
    static Map<String, Set<String>> topicsUsed(JsonNode compose, CommandLine root) {
        Map<String, Set<String>> used = new TreeMap<>();
        for (var service : ourServices(compose).entrySet()) {
            String command = command(service.getValue());
            CommandLine sub = root.getSubcommands().get(command);
            Set<String> topics = new TreeSet<>();
            if (sub != null) {
                for (OptionSpec o : sub.getCommandSpec().options()) {
                    if (o.longestName().endsWith("-topic") && o.defaultValue() != null) {
                        topics.add(o.defaultValue());
                    }
                }
            }
            if (command.equals("ingest")) {
                // Ingest's topics are qlora.stream.ingest.topic.* settings of its --config file, not options.
                IngestConfig c = IngestConfig.defaults();
                topics.addAll(List.of(c.ticketsTopic, c.reviewsTopic, c.trainingTopic, c.evalTopic, c.dlqTopic));
            }
            assertThat(topics).as("topics of service %s (%s)", service.getKey(), command).isNotEmpty();
            used.put(service.getKey(), topics);
        }
        return used;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The image: what the Dockerfile copies exists, and it runs qlora-stream as a non-root user

    @Test
    void theDockerfileBuildsTheFatJarAndRunsItAsANonRootUser() throws IOException {
        List<String> lines = Files.readAllLines(DOCKERFILE);
        List<String> froms = lines.stream().filter(l -> l.startsWith("FROM ")).toList();
        assertThat(froms).as("multi-stage").hasSize(2);
        assertThat(froms.get(0)).contains("AS build");
        String jar = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(Files.readString(REPO.resolve("app/pom.xml")))
                .results().findFirst().orElseThrow().group(1) + ".jar";
        assertThat(String.join("\n", lines)).contains("-pl app -am package").contains("app/target/" + jar);
        for (String l : lines) {
            if (l.startsWith("COPY ") && !l.contains("--from=")) {
                String[] parts = l.trim().split("\\s+");
                String src = parts[parts.length - 2];
                if (!src.equals(".")) {
                    assertThat(REPO.resolve(src)).as("COPY source of: %s", l).isRegularFile();
                }
            }
        }
        int lastFrom = lines.indexOf(froms.get(1));
        List<String> runStage = lines.subList(lastFrom, lines.size());
        String user = runStage.stream().filter(l -> l.startsWith("USER ")).reduce((a, b) -> b).orElseThrow();
        assertThat(user).doesNotContain("root").doesNotMatch("USER 0(:.*)?");
        assertThat(runStage).contains("ENTRYPOINT [\"qlora-stream\"]");
        assertThat(Files.readString(LAUNCHER)).contains("/opt/qlora-stream/" + jar).contains("exec java");
        assertThat(String.join("\n", runStage)).contains("/opt/qlora-stream/" + jar);
        assertThat(Files.isExecutable(LAUNCHER)).isTrue();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reading the compose file

    static ObjectMapper yaml() {
        return new ObjectMapper(new YAMLFactory());
    }

    static JsonNode readCompose() throws IOException {
        String text = Files.readString(COMPOSE_FILE);
        // Jackson does not expand YAML aliases or merge keys; with them these checks would read the wrong values.
        assertThat(text).as("no YAML anchors, aliases or merge keys in " + COMPOSE_FILE).doesNotContainPattern("(<<:|:\\s+[&*][A-Za-z])");
        return yaml().readTree(text);
    }

    /** Services that run our image: built from compose/Dockerfile; each runs `qlora-stream <command>`. */
    static Map<String, JsonNode> ourServices(JsonNode compose) {
        Map<String, JsonNode> ours = new TreeMap<>();
        compose.path("services").properties().forEach(e -> {
            if (e.getValue().path("build").path("dockerfile").asText().equals("compose/Dockerfile")) {
                ours.put(e.getKey(), e.getValue());
            }
        });
        return ours;
    }

    static String command(JsonNode service) {
        JsonNode c = service.path("command");
        return c.isArray() ? c.path(0).asText() : c.asText().trim().split("\\s+")[0];
    }

    /** environment: as a map or as a list of NAME=value. */
    static Map<String, String> environment(JsonNode service) {
        Map<String, String> env = new TreeMap<>();
        JsonNode e = service.path("environment");
        if (e.isObject()) {
            e.properties().forEach(f -> env.put(f.getKey(), f.getValue().asText()));
        } else if (e.isArray()) {
            e.forEach(item -> {
                String[] kv = item.asText().split("=", 2);
                env.put(kv[0], kv.length > 1 ? kv[1] : "");
            });
        }
        return env;
    }

    record Result(int exit, String output) {
    }

    static Result run(Path dir, List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " did not finish in 120 s");
        }
        return new Result(p.exitValue(), out);
    }
}
