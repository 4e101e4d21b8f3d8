package dev.graft.cli;

import dev.graft.engine.GraftException;
import dev.graft.models.PrintableText;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns expected failures (bad files, bad shapes, unavailable devices: every {@link GraftException}) into one
 * clear line on stderr and exit code 2; anything else is a bug and keeps its stack trace. The line is printed
 * through {@link PrintableText}: a message quoting a class name or file name stays one line and cannot send
 * escape sequences to the terminal.
 */
final class ErrorHandler implements IExecutionExceptionHandler {
    static final int USER_ERROR = 2;

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parsed) {
        if (ex instanceof GraftException || ex instanceof java.io.IOException) {
            cmd.getErr().println("graft " + cmd.getCommandName() + ": error: " + PrintableText.escape(message(ex)));
            return USER_ERROR;
        }
        cmd.getErr().println("graft " + cmd.getCommandName() + ": internal error (please report): " + ex);
        ex.printStackTrace(cmd.getErr());
        return 1;
    }

    private static String message(Exception ex) {
        if (ex instanceof java.nio.file.NoSuchFileException n) {
            return "no such file: " + n.getFile();
        }
        return ex.getMessage() == null ? ex.toString() : ex.getMessage();
    }
}
