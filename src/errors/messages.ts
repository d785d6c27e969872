/** @module Every problem the gateway reports: its status, and its title and detail in each supported language. */

export const LOCALES = ['en', 'hi', 'es'] as const;
export type Locale = (typeof LOCALES)[number];

/** Each kind is a stable problem type: clients may branch on it. Renaming one is a breaking change. */
export const PROBLEM_STATUS = {
  'invalid-path': 400,
  'invalid-request': 400,
  'invalid-configuration': 400,
  'invalid-header': 400,
  'invalid-host': 400,
  'body-not-allowed': 400,
  'incomplete-body': 400,
  'request-not-forwardable': 400,
  'request-timeout': 408,
  'not-implemented': 501,
  'malformed-credentials': 400,
  unauthorized: 401,
  forbidden: 403,
  'cors-rejected': 403,
  'route-not-found': 404,
  'method-not-allowed': 405,
  'service-not-found': 404,
  'resource-not-found': 404,
  'resource-exists': 409,
  'alert-state-conflict': 409,
  'precondition-failed': 412,
  'unsupported-media-type': 415,
  'rate-limited': 429,
  'payload-too-large': 413,
  'host-not-allowed': 421,
  'headers-too-large': 431,
  'forwarding-loop': 508,
  'internal-error': 500,
  'configuration-error': 500,
  'upstream-unreachable': 502,
  'no-instance-available': 503,
  'circuit-open': 503,
  'concurrency-limit': 503,
  'rate-limit-unavailable': 503,
  'breaker-unavailable': 503,
  'upstream-timeout': 504,
  'key-server-unavailable': 503,
  'auth-service-unavailable': 503,
  'analytics-unavailable': 503,
  'too-many-failed-authentications': 429,
} as const satisfies Record<string, number>;

export type ProblemKind = keyof typeof PROBLEM_STATUS;
export type ProblemParams = Readonly<Record<string, string | number>>;

interface Message {
  title: string;
  /** `{name}` is replaced by the parameter of that name. */
  detail: string;
}

const MESSAGES: Record<Locale, Record<ProblemKind, Message>> = {
  en: {
    'unsupported-media-type': {
      title: 'Unsupported media type',
      detail: 'The request body must be JSON, sent with Content-Type: application/json.',
    },
    'invalid-request': {
      title: 'Invalid request',
      detail: 'The request is not valid: {count} problem(s), listed in "errors".',
    },
    'invalid-configuration': {
      title: 'Invalid configuration',
      detail: 'The change would make the gateway configuration invalid: {count} problem(s), listed in "errors". Nothing was changed.',
    },
    'resource-not-found': { title: 'Not found', detail: 'There is no {resource}.' },
    'resource-exists': { title: 'Already exists', detail: 'There is already a {resource}.' },
    'alert-state-conflict': { title: 'Not possible in this state', detail: 'Alert {id} is {status}: it cannot be {action}.' },
    'precondition-failed': {
      title: 'Precondition failed',
      detail: 'The configuration changed since version {expected} (it is now at {current}). Read it again and retry.',
    },
    'service-not-found': { title: 'Unknown service', detail: 'There is no service named "{service}".' },
    'rate-limited': {
      title: 'Too many requests',
      detail: 'The rate limit of the service "{service}" is used up. Retry after {retryAfter} s.',
    },
    'circuit-open': {
      title: 'Service circuit open',
      detail: 'The service "{service}" is failing and is not being called for now. Retry after {retryAfter} s.',
    },
    'concurrency-limit': {
      title: 'Too many concurrent requests',
      detail: 'The service "{service}" has too many requests in progress. Retry shortly.',
    },
    'rate-limit-unavailable': {
      title: 'Rate limit unavailable',
      detail: 'The rate limit of the service "{service}" could not be checked, and this service admits no unchecked requests.',
    },
    'breaker-unavailable': {
      title: 'Circuit breaker unavailable',
      detail: 'The circuit breaker of the service "{service}" could not be read, and this service admits no requests without it.',
    },
    'invalid-host': {
      title: 'Invalid Host header',
      detail: 'The request must carry exactly one Host header of the form host[:port].',
    },
    'body-not-allowed': {
      title: 'Body not allowed',
      detail: 'A {method} request cannot carry a body.',
    },
    'incomplete-body': {
      title: 'Incomplete request body',
      detail: 'The request body ended before all of it arrived.',
    },
    'request-not-forwardable': {
      title: 'Request cannot be forwarded',
      detail: 'The request cannot be sent on to the service as it is.',
    },
    'request-timeout': {
      title: 'Request timeout',
      detail: 'The request body stopped arriving: nothing for {timeoutMs} ms.',
    },
    'not-implemented': {
      title: 'Not implemented',
      detail: 'The gateway does not support the method {method}.',
    },
    'invalid-header': {
      title: 'Invalid request header',
      detail: 'A request header contains a control character.',
    },
    'malformed-credentials': {
      title: 'Malformed credentials',
      detail: 'The request must carry exactly one credential: one Authorization header or one X-API-Key header.',
    },
    unauthorized: {
      title: 'Authentication required',
      detail: 'The request lacks valid credentials for this resource.',
    },
    forbidden: {
      title: 'Forbidden',
      detail: 'The credentials are valid but do not grant access to this resource.',
    },
    'cors-rejected': {
      title: 'Cross-origin request not allowed',
      detail: 'The origin, method or headers of this cross-origin request are not allowed.',
    },
    'payload-too-large': {
      title: 'Request body too large',
      detail: 'The request body is larger than the limit of {limit} bytes.',
    },
    'host-not-allowed': {
      title: 'Host not served',
      detail: 'This gateway does not serve the host "{host}".',
    },
    'headers-too-large': {
      title: 'Request headers too large',
      detail: 'The request headers are larger than the limit of {limit} bytes.',
    },
    'forwarding-loop': {
      title: 'Forwarding loop',
      detail: 'This request has already passed through this gateway ("{pseudonym}" in Via) {passes} times: an instance URL probably leads back to the gateway.',
    },
    'key-server-unavailable': {
      title: 'Key server unavailable',
      detail: 'The keys needed to verify the access token could not be obtained. Try again later.',
    },
    'auth-service-unavailable': {
      title: 'Authentication service unavailable',
      detail: 'The credentials could not be checked right now. Try again later.',
    },
    'analytics-unavailable': {
      title: 'Analytics unavailable',
      detail: 'The Analytics Engine history could not be read: {reason}',
    },
    'too-many-failed-authentications': {
      title: 'Too many failed authentications',
      detail: 'Too many requests from this address presented invalid credentials. Retry after {retryAfter} s.',
    },
    'invalid-path': {
      title: 'Invalid request path',
      detail: 'The request path contains malformed percent-encoding or a forbidden character.',
    },
    'route-not-found': { title: 'Route not found', detail: 'No route is configured for the path "{path}".' },
    'method-not-allowed': {
      title: 'Method not allowed',
      detail: 'The method {method} is not allowed on "{path}". Allowed methods: {allow}.',
    },
    'internal-error': {
      title: 'Internal error',
      detail: 'The gateway hit an unexpected error. Quote request id {requestId} when asking for help.',
    },
    'configuration-error': {
      title: 'Configuration error',
      detail: "The gateway's configuration is invalid. The details are in the gateway's logs.",
    },
    'upstream-unreachable': {
      title: 'Service unreachable',
      detail: 'No instance of the service "{service}" could be reached.',
    },
    'no-instance-available': {
      title: 'No instance available',
      detail: 'The service "{service}" has no instance available to take the request.',
    },
    'upstream-timeout': {
      title: 'Service timed out',
      detail: 'The service "{service}" did not answer within {timeoutMs} ms.',
    },
  },
  hi: {
    'unsupported-media-type': {
      title: 'असमर्थित मीडिया प्रकार',
      detail: 'अनुरोध बॉडी JSON होनी चाहिए, Content-Type: application/json के साथ भेजी गई।',
    },
    'invalid-request': {
      title: 'अमान्य अनुरोध',
      detail: 'अनुरोध मान्य नहीं है: {count} समस्या(एँ), "errors" में सूचीबद्ध।',
    },
    'invalid-configuration': {
      title: 'अमान्य कॉन्फ़िगरेशन',
      detail: 'इस परिवर्तन से गेटवे का कॉन्फ़िगरेशन अमान्य हो जाएगा: {count} समस्या(एँ), "errors" में सूचीबद्ध। कुछ भी नहीं बदला गया।',
    },
    'resource-not-found': { title: 'नहीं मिला', detail: 'ऐसा कोई {resource} नहीं है।' },
    'resource-exists': { title: 'पहले से मौजूद', detail: 'यह {resource} पहले से मौजूद है।' },
    'alert-state-conflict': { title: 'इस स्थिति में संभव नहीं', detail: 'अलर्ट {id} की स्थिति {status} है: इसे {action} नहीं किया जा सकता।' },
    'precondition-failed': {
      title: 'पूर्व शर्त विफल',
      detail: 'कॉन्फ़िगरेशन संस्करण {expected} के बाद बदल गया है (अब {current} है)। इसे फिर से पढ़ें और पुनः प्रयास करें।',
    },
    'service-not-found': { title: 'अज्ञात सेवा', detail: '"{service}" नाम की कोई सेवा नहीं है।' },
    'rate-limited': {
      title: 'बहुत अधिक अनुरोध',
      detail: 'सेवा "{service}" की दर सीमा समाप्त हो गई है। {retryAfter} सेकंड बाद पुनः प्रयास करें।',
    },
    'circuit-open': {
      title: 'सेवा का सर्किट खुला है',
      detail: 'सेवा "{service}" विफल हो रही है और अभी उसे कॉल नहीं किया जा रहा। {retryAfter} सेकंड बाद पुनः प्रयास करें।',
    },
    'concurrency-limit': {
      title: 'बहुत अधिक समवर्ती अनुरोध',
      detail: 'सेवा "{service}" पर इस समय बहुत अधिक अनुरोध चल रहे हैं। थोड़ी देर बाद पुनः प्रयास करें।',
    },
    'rate-limit-unavailable': {
      title: 'दर सीमा उपलब्ध नहीं',
      detail: 'सेवा "{service}" की दर सीमा की जाँच नहीं हो सकी, और यह सेवा बिना जाँच के अनुरोध स्वीकार नहीं करती।',
    },
    'breaker-unavailable': {
      title: 'सर्किट ब्रेकर उपलब्ध नहीं',
      detail: 'सेवा "{service}" के सर्किट ब्रेकर की स्थिति नहीं मिल सकी, और यह सेवा उसके बिना अनुरोध स्वीकार नहीं करती।',
    },
    'invalid-host': {
      title: 'अमान्य Host हेडर',
      detail: 'अनुरोध में host[:port] रूप का ठीक एक Host हेडर होना चाहिए।',
    },
    'body-not-allowed': {
      title: 'बॉडी की अनुमति नहीं',
      detail: '{method} अनुरोध में बॉडी नहीं हो सकती।',
    },
    'incomplete-body': {
      title: 'अधूरी अनुरोध बॉडी',
      detail: 'अनुरोध बॉडी पूरी पहुँचने से पहले ही समाप्त हो गई।',
    },
    'request-not-forwardable': {
      title: 'अनुरोध आगे नहीं भेजा जा सकता',
      detail: 'यह अनुरोध जैसा है वैसा सेवा तक नहीं भेजा जा सकता।',
    },
    'request-timeout': {
      title: 'अनुरोध का समय समाप्त',
      detail: 'अनुरोध बॉडी आनी बंद हो गई: {timeoutMs} ms तक कुछ नहीं आया।',
    },
    'not-implemented': {
      title: 'समर्थित नहीं',
      detail: 'गेटवे {method} विधि का समर्थन नहीं करता।',
    },
    'invalid-header': {
      title: 'अमान्य अनुरोध हेडर',
      detail: 'किसी अनुरोध हेडर में नियंत्रण वर्ण है।',
    },
    'malformed-credentials': {
      title: 'गलत क्रेडेंशियल',
      detail: 'अनुरोध में ठीक एक क्रेडेंशियल होना चाहिए: एक Authorization हेडर या एक X-API-Key हेडर।',
    },
    unauthorized: {
      title: 'प्रमाणीकरण आवश्यक',
      detail: 'इस संसाधन के लिए अनुरोध में मान्य क्रेडेंशियल नहीं हैं।',
    },
    forbidden: {
      title: 'प्रवेश वर्जित',
      detail: 'क्रेडेंशियल मान्य हैं, पर इस संसाधन तक पहुँच की अनुमति नहीं देते।',
    },
    'cors-rejected': {
      title: 'क्रॉस-ओरिजिन अनुरोध की अनुमति नहीं है',
      detail: 'इस क्रॉस-ओरिजिन अनुरोध का ओरिजिन, विधि या हेडर अनुमत नहीं हैं।',
    },
    'payload-too-large': {
      title: 'अनुरोध बॉडी बहुत बड़ी है',
      detail: 'अनुरोध बॉडी {limit} बाइट की सीमा से बड़ी है।',
    },
    'host-not-allowed': {
      title: 'होस्ट सेवा में नहीं',
      detail: 'यह गेटवे होस्ट "{host}" को सेवा नहीं देता।',
    },
    'headers-too-large': {
      title: 'अनुरोध हेडर बहुत बड़े हैं',
      detail: 'अनुरोध हेडर {limit} बाइट की सीमा से बड़े हैं।',
    },
    'forwarding-loop': {
      title: 'फ़ॉरवर्डिंग लूप',
      detail: 'यह अनुरोध इस गेटवे से पहले ही {passes} बार गुज़र चुका है (Via में "{pseudonym}"): संभवतः किसी इंस्टेंस का URL वापस गेटवे पर ले जाता है।',
    },
    'key-server-unavailable': {
      title: 'कुंजी सर्वर उपलब्ध नहीं',
      detail: 'एक्सेस टोकन सत्यापित करने के लिए आवश्यक कुंजियाँ प्राप्त नहीं हो सकीं। बाद में फिर प्रयास करें।',
    },
    'auth-service-unavailable': {
      title: 'प्रमाणीकरण सेवा उपलब्ध नहीं',
      detail: 'अभी क्रेडेंशियल की जाँच नहीं हो सकी। बाद में फिर प्रयास करें।',
    },
    'analytics-unavailable': {
      title: 'एनालिटिक्स उपलब्ध नहीं',
      detail: 'Analytics Engine का इतिहास पढ़ा नहीं जा सका: {reason}',
    },
    'too-many-failed-authentications': {
      title: 'बहुत अधिक विफल प्रमाणीकरण',
      detail: 'इस पते से बहुत से अनुरोधों में अमान्य क्रेडेंशियल थे। {retryAfter} सेकंड बाद पुनः प्रयास करें।',
    },
    'invalid-path': {
      title: 'अमान्य अनुरोध पथ',
      detail: 'अनुरोध पथ में गलत प्रतिशत-एन्कोडिंग या निषिद्ध वर्ण है।',
    },
    'route-not-found': { title: 'रूट नहीं मिला', detail: 'पथ "{path}" के लिए कोई रूट कॉन्फ़िगर नहीं है।' },
    'method-not-allowed': {
      title: 'विधि की अनुमति नहीं है',
      detail: '"{path}" पर {method} विधि की अनुमति नहीं है। अनुमत विधियाँ: {allow}।',
    },
    'internal-error': {
      title: 'आंतरिक त्रुटि',
      detail: 'गेटवे में एक अप्रत्याशित त्रुटि हुई। सहायता माँगते समय अनुरोध आईडी {requestId} बताएँ।',
    },
    'configuration-error': {
      title: 'कॉन्फ़िगरेशन त्रुटि',
      detail: 'गेटवे का कॉन्फ़िगरेशन अमान्य है। विवरण गेटवे के लॉग में हैं।',
    },
    'upstream-unreachable': {
      title: 'सेवा तक पहुँचा नहीं जा सका',
      detail: 'सेवा "{service}" के किसी भी इंस्टेंस से संपर्क नहीं हो सका।',
    },
    'no-instance-available': {
      title: 'कोई इंस्टेंस उपलब्ध नहीं',
      detail: 'सेवा "{service}" के पास अनुरोध लेने के लिए कोई इंस्टेंस उपलब्ध नहीं है।',
    },
    'upstream-timeout': {
      title: 'सेवा का समय समाप्त',
      detail: 'सेवा "{service}" ने {timeoutMs} मि.से. के भीतर उत्तर नहीं दिया।',
    },
  },
  es: {
    'unsupported-media-type': {
      title: 'Tipo de contenido no admitido',
      detail: 'El cuerpo de la solicitud debe ser JSON, enviado con Content-Type: application/json.',
    },
    'invalid-request': {
      title: 'Solicitud no válida',
      detail: 'La solicitud no es válida: {count} problema(s), detallados en «errors».',
    },
    'invalid-configuration': {
      title: 'Configuración no válida',
      detail: 'El cambio dejaría la configuración de la pasarela no válida: {count} problema(s), detallados en «errors». No se cambió nada.',
    },
    'resource-not-found': { title: 'No encontrado', detail: 'No existe {resource}.' },
    'resource-exists': { title: 'Ya existe', detail: 'Ya existe {resource}.' },
    'alert-state-conflict': { title: 'No es posible en este estado', detail: 'La alerta {id} está en estado {status}: no se puede {action}.' },
    'precondition-failed': {
      title: 'Precondición fallida',
      detail: 'La configuración cambió desde la versión {expected} (ahora está en la {current}). Vuelva a leerla y reintente.',
    },
    'service-not-found': { title: 'Servicio desconocido', detail: 'No hay ningún servicio llamado «{service}».' },
    'rate-limited': {
      title: 'Demasiadas solicitudes',
      detail: 'Se agotó el límite de frecuencia del servicio «{service}». Vuelva a intentarlo dentro de {retryAfter} s.',
    },
    'circuit-open': {
      title: 'Circuito del servicio abierto',
      detail: 'El servicio «{service}» está fallando y por ahora no se le llama. Vuelva a intentarlo dentro de {retryAfter} s.',
    },
    'concurrency-limit': {
      title: 'Demasiadas solicitudes simultáneas',
      detail: 'El servicio «{service}» tiene demasiadas solicitudes en curso. Vuelva a intentarlo en breve.',
    },
    'rate-limit-unavailable': {
      title: 'Límite de frecuencia no disponible',
      detail: 'No se pudo comprobar el límite de frecuencia del servicio «{service}», y este servicio no admite solicitudes sin comprobar.',
    },
    'breaker-unavailable': {
      title: 'Disyuntor no disponible',
      detail: 'No se pudo leer el disyuntor del servicio «{service}», y este servicio no admite solicitudes sin él.',
    },
    'invalid-host': {
      title: 'Cabecera Host no válida',
      detail: 'La solicitud debe llevar exactamente una cabecera Host de la forma host[:puerto].',
    },
    'body-not-allowed': {
      title: 'Cuerpo no permitido',
      detail: 'Una solicitud {method} no puede llevar cuerpo.',
    },
    'incomplete-body': {
      title: 'Cuerpo de la solicitud incompleto',
      detail: 'El cuerpo de la solicitud terminó antes de llegar entero.',
    },
    'request-not-forwardable': {
      title: 'La solicitud no se puede reenviar',
      detail: 'La solicitud no se puede enviar al servicio tal como está.',
    },
    'request-timeout': {
      title: 'Tiempo de solicitud agotado',
      detail: 'El cuerpo de la solicitud dejó de llegar: nada durante {timeoutMs} ms.',
    },
    'not-implemented': {
      title: 'No implementado',
      detail: 'La pasarela no admite el método {method}.',
    },
    'invalid-header': {
      title: 'Cabecera de solicitud no válida',
      detail: 'Una cabecera de la solicitud contiene un carácter de control.',
    },
    'malformed-credentials': {
      title: 'Credenciales mal formadas',
      detail: 'La solicitud debe llevar exactamente una credencial: una cabecera Authorization o una cabecera X-API-Key.',
    },
    unauthorized: {
      title: 'Autenticación requerida',
      detail: 'La solicitud no lleva credenciales válidas para este recurso.',
    },
    forbidden: {
      title: 'Prohibido',
      detail: 'Las credenciales son válidas, pero no dan acceso a este recurso.',
    },
    'cors-rejected': {
      title: 'Solicitud de origen cruzado no permitida',
      detail: 'El origen, el método o las cabeceras de esta solicitud de origen cruzado no están permitidos.',
    },
    'payload-too-large': {
      title: 'Cuerpo de solicitud demasiado grande',
      detail: 'El cuerpo de la solicitud supera el límite de {limit} bytes.',
    },
    'host-not-allowed': {
      title: 'Host no atendido',
      detail: 'Esta pasarela no atiende el host «{host}».',
    },
    'headers-too-large': {
      title: 'Cabeceras de solicitud demasiado grandes',
      detail: 'Las cabeceras de la solicitud superan el límite de {limit} bytes.',
    },
    'forwarding-loop': {
      title: 'Bucle de reenvío',
      detail: 'Esta solicitud ya ha pasado {passes} veces por esta pasarela («{pseudonym}» en Via): probablemente la URL de una instancia lleva de vuelta a la pasarela.',
    },
    'key-server-unavailable': {
      title: 'Servidor de claves no disponible',
      detail: 'No se pudieron obtener las claves necesarias para verificar el token de acceso. Inténtelo más tarde.',
    },
    'auth-service-unavailable': {
      title: 'Servicio de autenticación no disponible',
      detail: 'Ahora mismo no se pudieron comprobar las credenciales. Inténtelo más tarde.',
    },
    'analytics-unavailable': {
      title: 'Analítica no disponible',
      detail: 'No se pudo leer el historial de Analytics Engine: {reason}',
    },
    'too-many-failed-authentications': {
      title: 'Demasiadas autenticaciones fallidas',
      detail: 'Demasiadas solicitudes desde esta dirección presentaron credenciales no válidas. Reintente dentro de {retryAfter} s.',
    },
    'invalid-path': {
      title: 'Ruta de solicitud no válida',
      detail: 'La ruta de la solicitud contiene una codificación porcentual mal formada o un carácter prohibido.',
    },
    'route-not-found': { title: 'Ruta no encontrada', detail: 'No hay ninguna ruta configurada para «{path}».' },
    'method-not-allowed': {
      title: 'Método no permitido',
      detail: 'El método {method} no está permitido en «{path}». Métodos permitidos: {allow}.',
    },
    'internal-error': {
      title: 'Error interno',
      detail: 'La pasarela sufrió un error inesperado. Indique el identificador de solicitud {requestId} al pedir ayuda.',
    },
    'configuration-error': {
      title: 'Error de configuración',
      detail: 'La configuración de la pasarela no es válida. Los detalles están en los registros de la pasarela.',
    },
    'upstream-unreachable': {
      title: 'Servicio inaccesible',
      detail: 'No se pudo conectar con ninguna instancia del servicio «{service}».',
    },
    'no-instance-available': {
      title: 'Ninguna instancia disponible',
      detail: 'El servicio «{service}» no tiene ninguna instancia disponible para atender la solicitud.',
    },
    'upstream-timeout': {
      title: 'Tiempo de espera agotado',
      detail: 'El servicio «{service}» no respondió en {timeoutMs} ms.',
    },
  },
};

/** Title and detail of a problem in `locale`, with its parameters filled in. */
export function localise(kind: ProblemKind, locale: Locale, params: ProblemParams): Message {
  const message = MESSAGES[locale][kind];
  return {
    title: message.title,
    detail: message.detail.replace(/\{(\w+)\}/g, (placeholder, name: string) => String(params[name] ?? placeholder)),
  };
}

/**
 * Picks the best supported locale from an `Accept-Language` header (RFC 9110 §12.5.4): highest q-value first,
 * matching on the primary subtag (`hi-IN` → `hi`); English when nothing matches.
 */
export function negotiateLocale(acceptLanguage: string | null | undefined): Locale {
  if (!acceptLanguage) return 'en';
  let best: Locale = 'en';
  let bestQ = 0;
  for (const part of acceptLanguage.split(',')) {
    const [tag = '', ...parameters] = part.trim().split(';');
    const qParameter = parameters.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParameter ? Number(qParameter.slice(2)) : 1;
    const primary = tag.trim().toLowerCase().split('-')[0];
    const locale = LOCALES.find((candidate) => candidate === primary);
    if (locale && Number.isFinite(q) && q > bestQ) {
      best = locale;
      bestQ = q;
    }
  }
  return best;
}
