"""Spanish."""

from kinfolk.i18n.catalogue import Catalogue

CATALOGUE = Catalogue(
    validation_failed="La validación ha fallado",
    messages={
        "Query is too long (maximum is {count} characters)": (
            "La búsqueda es demasiado larga (máximo {count} caracteres)"
        ),
        "Parameters can't contain a null character": "Los parámetros no pueden contener un carácter nulo",
        "A value is out of range or not valid here": "Un valor está fuera de rango o no es válido aquí",
        "This server does not answer to that host name": "Este servidor no responde a ese nombre de host",
        "Cannot attach a video to a post that already contains images": (
            "No se puede adjuntar un vídeo a una publicación que ya contiene imágenes"
        ),
        "You have exceeded the limit of {count} scheduled posts for today": (
            "Has superado el límite de {count} publicaciones programadas para hoy"
        ),
        "You have exceeded the limit of {count} scheduled posts": (
            "Has superado el límite de {count} publicaciones programadas"
        ),
        "Media {ids} not found or already attached to another post": (
            "Archivos multimedia {ids} no encontrados o ya adjuntos a otra publicación"
        ),
        "Record not found": "Registro no encontrado",
        "This action is not allowed": "Esta acción no está permitida",
        "The access token is invalid": "El token de acceso no es válido",
        "This action is outside the authorized scopes": "Esta acción está fuera de los permisos autorizados",
        "This method requires an authenticated user": "Este método requiere un usuario identificado",
        "Method not allowed": "Método no permitido",
        "Too many requests": "Demasiadas solicitudes",
        "Request entity too large": "La solicitud es demasiado grande",
        "Internal server error": "Error interno del servidor",
        "Service unavailable": "Servicio no disponible",
        "Insufficient storage": "Almacenamiento insuficiente",
        "Bad request": "Solicitud incorrecta",
        "Gone": "Eliminado",
        "Error occurred while parsing request parameters": (
            "No se pudieron leer los parámetros de la solicitud"
        ),
        "Registrations are closed on this server": "Los registros están cerrados en este servidor",
        "param is missing or the value is empty: {param}": "falta el parámetro o está vacío: {param}",
        "The post you are trying to reply to does not appear to exist.": (
            "La publicación a la que intentas responder parece no existir."
        ),
        "The post you are trying to quote does not appear to exist.": (
            "La publicación que intentas citar parece no existir."
        ),
        "`account_id` parameter is missing": "Falta el parámetro `account_id`",
        "Text character limit of {count} exceeded": "El texto supera el límite de {count} caracteres",
        "Media attachments can't be more than {count}": (
            "No se pueden adjuntar más de {count} archivos multimedia"
        ),
        "Media {ids} not found": "Archivos multimedia {ids} no encontrados",
        "Media could not be processed and cannot be attached": (
            "El archivo multimedia no se pudo procesar y no se puede adjuntar"
        ),
        "Media processing is not complete; try again in a moment": (
            "El archivo multimedia aún se está procesando; inténtalo de nuevo en un momento"
        ),
        "Media attributes refer to media not attached to this post": (
            "Los atributos multimedia se refieren a archivos que no están adjuntos a esta publicación"
        ),
        "Media attributes are invalid": "Los atributos multimedia no son válidos",
        "This post cannot be quoted": "Esta publicación no se puede citar",
        "Status can only pin your own posts": "Solo puedes fijar tus propias publicaciones",
        "Status cannot pin private mentions": "No se pueden fijar menciones privadas",
        "Status cannot pin more than {count} posts": "No se pueden fijar más de {count} publicaciones",
        "Status has no conversation": "La publicación no pertenece a ninguna conversación",
        "Scheduled at The scheduled date must be in the future": (
            "La fecha programada debe estar en el futuro"
        ),
        "You have exceeded the limit of {count} scheduled statuses": (
            "Has superado el límite de {count} publicaciones programadas"
        ),
        "Poll options must be a list": "Las opciones de la encuesta deben ser una lista",
        "Poll expires_in must be a number": "La duración de la encuesta (expires_in) debe ser un número",
        "Poll must have at least {count} options": "La encuesta debe tener al menos {count} opciones",
        "Poll can't contain more than {count} items": "La encuesta no puede tener más de {count} opciones",
        "Poll options can't be longer than {count} characters": (
            "Las opciones de la encuesta no pueden superar los {count} caracteres"
        ),
        "Poll contains duplicate items": "La encuesta contiene opciones repetidas",
        "Poll expiration too soon": "La encuesta termina demasiado pronto",
        "Poll expiration too far in the future": "La encuesta termina demasiado lejos en el futuro",
        "The poll has already ended": "La encuesta ya ha terminado",
        "You need to pick at least one option": "Debes elegir al menos una opción",
        "You can only pick one option": "Solo puedes elegir una opción",
        "That option does not exist": "Esa opción no existe",
        "You have already voted on this poll": "Ya has votado en esta encuesta",
        "You have already voted for this option": "Ya has votado por esta opción",
        "Too many ids (maximum is {count})": "Demasiados identificadores (como máximo {count})",
        "You have reached the maximum number of lists": "Has alcanzado el número máximo de listas",
        "You have reached the maximum number of collections": "Has alcanzado el número máximo de colecciones",
    },
    attribute_messages={
        "can't be blank": "no puede estar en blanco",
        "is invalid": "no es válido",
        "is too long (maximum is {count} characters)": "es demasiado largo (máximo {count} caracteres)",
        "is too short (minimum is {count} characters)": "es demasiado corto (mínimo {count} caracteres)",
        "is too long (maximum is {count} fields)": "tiene demasiados elementos (máximo {count} campos)",
        "is too long (maximum is {count} accounts)": "tiene demasiados elementos (máximo {count} cuentas)",
        "is too long (maximum is {count} domains)": "tiene demasiados elementos (máximo {count} dominios)",
        "is already taken": "ya está en uso",
        "or e-mail is already taken": "o correo electrónico ya está en uso",
        "has already been taken": "ya está en uso",
        "is reserved": "está reservado",
        "is not included in the list": "no es un valor permitido",
        "must be accepted": "debe ser aceptado",
        "must contain only letters, numbers, underscores and inner dots or dashes": (
            "solo puede contener letras, números, guiones bajos y, en el interior, puntos o guiones"
        ),
        "must be one of {choices}": "debe ser uno de estos valores: {choices}",
        "is not a supported language code": "no es un código de idioma admitido",
        "must be a string": "debe ser un texto",
        "is not a number": "no es un número",
        "must be smaller than {count} MB": "debe ocupar menos de {count} MB",
    },
    attributes={
        "Text": "Texto",
        "Visibility": "Visibilidad",
        "Spoiler text": "Advertencia de contenido",
        "Language": "Idioma",
        "Quote approval policy": "Permiso de citas",
        "Scheduled at": "Fecha programada",
        "Poll": "Encuesta",
        "Focus": "Punto focal",
        "Description": "Descripción",
        "Thumbnail": "Miniatura",
        "File": "Archivo",
        "Username": "Nombre de usuario",
        "Email": "Correo electrónico",
        "Password": "Contraseña",
        "Agreement": "Aceptación de las condiciones",
        "Locale": "Idioma de la interfaz",
        "Reason": "Motivo",
        "Display name": "Nombre para mostrar",
        "Note": "Biografía",
        "Fields": "Campos del perfil",
        "Avatar": "Foto de perfil",
        "Header": "Imagen de cabecera",
        "Avatar description": "Descripción de la foto de perfil",
        "Header description": "Descripción de la imagen de cabecera",
        "Source privacy": "Visibilidad predeterminada",
        "Source language": "Idioma predeterminado",
        "Source quote policy": "Permiso de citas predeterminado",
        "Attribution domains": "Dominios de autoría",
        "Role": "Rol",
        "Title": "Título",
        "Replies policy": "Política de respuestas",
        "Name": "Nombre",
        "Tag name": "Etiqueta",
        "Tag": "Etiqueta",
        "Account": "Cuenta",
        "Collection items": "Elementos de la colección",
    },
)
