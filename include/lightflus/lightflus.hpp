// Lightflus: an embeddable stream-processing engine. This umbrella header includes the whole
// public API; see datastream.hpp to start.
#pragma once

#include "lightflus/changelog.hpp"
#include "lightflus/checkpoint.hpp"
#include "lightflus/connectors/file.hpp"
#include "lightflus/datastream.hpp"
#include "lightflus/error.hpp"
#include "lightflus/executor.hpp"
#include "lightflus/functions.hpp"
#include "lightflus/process.hpp"
#include "lightflus/serializer.hpp"
#include "lightflus/sink.hpp"
#include "lightflus/source.hpp"
#include "lightflus/state.hpp"
#include "lightflus/time.hpp"
#include "lightflus/value.hpp"
#include "lightflus/window.hpp"
