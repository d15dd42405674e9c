package io.qlorastream.schemas.registry;

/**
 * An error answer of a Schema Registry ({@code {"error_code": N, "message": "..."}}) or a failure to reach it.
 * {@link #of} picks the typed subclass for the error codes callers act on.
 */
public class RegistryException extends RuntimeException {
    public static final int SUBJECT_NOT_FOUND = 40401;
    public static final int VERSION_NOT_FOUND = 40402;
    public static final int SCHEMA_NOT_FOUND = 40403;
    public static final int SUBJECT_SOFT_DELETED = 40404;
    public static final int SUBJECT_NOT_SOFT_DELETED = 40405;
    public static final int SCHEMA_VERSION_SOFT_DELETED = 40406;
    public static final int SCHEMA_VERSION_NOT_SOFT_DELETED = 40407;
    public static final int SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED = 40408;
    public static final int INCOMPATIBLE_SCHEMA = 409;
    public static final int INVALID_SCHEMA = 42201;
    public static final int INVALID_VERSION = 42202;
    public static final int INVALID_COMPATIBILITY_LEVEL = 42203;
    public static final int STORE_ERROR = 50001;
    public static final int OPERATION_TIMEOUT = 50002;

    private final int status;
    private final int errorCode;

    public RegistryException(int status, int errorCode, String message) {
        super(message);
        this.status = status;
        this.errorCode = errorCode;
    }

    public RegistryException(String message, Throwable cause) {
        super(message, cause);
        this.status = -1;
        this.errorCode = -1;
    }

    /** HTTP status of the answer; -1 when the registry could not be reached. */
    public int status() {
        return status;
    }

    /** Confluent error code ({@code error_code}); -1 when the registry could not be reached. */
    public int errorCode() {
        return errorCode;
    }

    /** The typed exception for an error answer. */
    public static RegistryException of(int status, int errorCode, String message) {
        return switch (errorCode) {
            case SUBJECT_NOT_FOUND -> new SubjectNotFoundException(message);
            case VERSION_NOT_FOUND -> new VersionNotFoundException(message);
            case SCHEMA_NOT_FOUND -> new SchemaNotFoundException(message);
            case INCOMPATIBLE_SCHEMA, 40901 -> new IncompatibleSchemaException(status, errorCode, message);
            case INVALID_SCHEMA -> new InvalidSchemaException(message);
            case INVALID_VERSION -> new InvalidVersionException(message);
            case INVALID_COMPATIBILITY_LEVEL -> new InvalidCompatibilityLevelException(message);
            default -> new RegistryException(status, errorCode, message);
        };
    }

    /** 404 / 40401. */
    public static final class SubjectNotFoundException extends RegistryException {
        public SubjectNotFoundException(String message) {
            super(404, SUBJECT_NOT_FOUND, message);
        }
    }

    /** 404 / 40402. */
    public static final class VersionNotFoundException extends RegistryException {
        public VersionNotFoundException(String message) {
            super(404, VERSION_NOT_FOUND, message);
        }
    }

    /** 404 / 40403. */
    public static final class SchemaNotFoundException extends RegistryException {
        public SchemaNotFoundException(String message) {
            super(404, SCHEMA_NOT_FOUND, message);
        }
    }

    /** 409: the schema breaks the subject's compatibility level. */
    public static final class IncompatibleSchemaException extends RegistryException {
        public IncompatibleSchemaException(int status, int errorCode, String message) {
            super(status, errorCode, message);
        }
    }

    /** 422 / 42201. */
    public static final class InvalidSchemaException extends RegistryException {
        public InvalidSchemaException(String message) {
            super(422, INVALID_SCHEMA, message);
        }
    }

    /** 422 / 42202. */
    public static final class InvalidVersionException extends RegistryException {
        public InvalidVersionException(String message) {
            super(422, INVALID_VERSION, message);
        }
    }

    /** 422 / 42203. */
    public static final class InvalidCompatibilityLevelException extends RegistryException {
        public InvalidCompatibilityLevelException(String message) {
            super(422, INVALID_COMPATIBILITY_LEVEL, message);
        }
    }
}
